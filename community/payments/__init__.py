"""Money: orders and their payment attempts, refunds and Stripe's webhook events, the Stripe
gateway, and the offline sandbox that stands in for Stripe when no key is set.

It knows nothing of tickets, tiers or dues: a domain registers a fulfilment handler for its
purpose (`"ticket"`, `"sponsorship"`, …) and payments calls it when money arrives, a checkout
expires, or money goes back.
"""
