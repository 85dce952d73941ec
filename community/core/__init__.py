"""What every domain uses: the database base, time, money, errors, mail and i18n helpers.

Nothing in here imports a domain package.
"""
