"""The service layer: use cases over the database, shared by actions and gateway.

Each function takes an `AsyncSession` (the caller owns the transaction), so
actions, the gateway and tests compose them freely.
"""
