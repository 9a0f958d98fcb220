from bot.store.repository import Store
from bot.store.schemas import MessageRecord, Profile, UserRecord

__all__ = ["MessageRecord", "Profile", "Store", "UserRecord"]
