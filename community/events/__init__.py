"""Events and workshops: what they are, when and where, and who runs them.

Registration, ticket types and the waiting list arrive with the registration engine; this package
already owns the event itself and its public pages.
"""
