"""The provider: the lab that owns the teacher and sells access to it through an API."""
