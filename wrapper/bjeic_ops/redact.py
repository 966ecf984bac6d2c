"""Keep secrets out of the store, exports and artifacts.

Two rules: values of keys that name a secret (password, token, ...) are replaced wherever they
appear in a structure, and known secret strings (from extra-vars with such names, or named
environment variables) are replaced wherever they appear inside any text.
"""
import re

MASK = '********'
SECRET_KEY = re.compile(r'password|passwd|passphrase|(^|_)pass$|secret|token|api_?key|private_?key|credential',
                        re.IGNORECASE)


class Redactor:
    def __init__(self, secret_values=()):
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({value for value in secret_values if isinstance(value, str) and len(value) >= 4},
                              key=len, reverse=True)

    def text(self, value):
        for secret in self.secrets:
            value = value.replace(secret, MASK)
        return value

    def data(self, value):
        """A copy of `value` with secret keys masked and secret strings replaced."""
        if isinstance(value, dict):
            return {key: (MASK if isinstance(key, str) and SECRET_KEY.search(key) and isinstance(item, str) and item
                          else self.data(item))
                    for key, item in value.items()}
        if isinstance(value, list):
            return [self.data(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def secret_values(data):
    """String values under secret-looking keys, at any depth."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and SECRET_KEY.search(key) and isinstance(value, str):
                yield value
            else:
                yield from secret_values(value)
    elif isinstance(data, list):
        for item in data:
            yield from secret_values(item)
