"""Users, hashed API tokens, roles, and the decorators that check them."""
