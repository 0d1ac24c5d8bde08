"""The registry's names, read again once the registry has changed: every page, answer and printout names what
it shows, under the names the registry holds now."""

from activities import registry
from activities.registry_kept import Kept
from i18n.names import NameBook

name_book: Kept[NameBook] = Kept(registry.name_book)
