"""What every domain uses: the database base and the unit of work (transaction.py), limited
places (capacity.py), the mail outbox and its worker (outbox.py, worker.py), hooks (hooks.py),
status columns, time, money, text rules and input fields, errors, i18n and the shared caches.

Nothing in here imports a domain package: a domain adds to core through its hooks.
"""
