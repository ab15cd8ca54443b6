"""The subscriber's side without a login: the public status page (see README.md)."""
