"""One module per outside system: they translate, they never decide."""
