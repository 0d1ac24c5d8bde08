"""The language the command line speaks: WHISTLE_LANG, else the operator's locale, else Chinese.

Only the command line follows the locale: the API answers each request in its own language and notifications
each recipient in theirs, whatever the server's locale.
"""

import os

from i18n.language import CHINESE, supported

LANGUAGE_ENV = "WHISTLE_LANG"
LOCALE_ENV = ("LC_ALL", "LC_MESSAGES", "LANG")  # POSIX precedence: the first one set is the locale in force


def cli_language() -> str:
    """WHISTLE_LANG when it names a supported language; else the locale in force when it names one (C, POSIX
    and an unset locale name none); else Chinese."""
    chosen = supported(os.environ.get(LANGUAGE_ENV))
    if chosen:
        return chosen
    locale = next((os.environ[name] for name in LOCALE_ENV if os.environ.get(name)), None)
    return supported(locale) or CHINESE
