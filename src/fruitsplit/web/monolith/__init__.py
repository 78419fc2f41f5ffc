"""The monolith's web app: the page, login sessions, fruits and tokens."""
