"""captcha package."""
