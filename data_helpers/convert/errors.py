"""The one exception the converter raises for bad input."""


class ConversionError(ValueError):
    """Bad input; the message says what is wrong, with which file, and the fix."""
