"""Which providers an ambassador may introduce to the SME of a thread they claimed (🤝): the
/providers directory's best matches for the SME's question, country and sector. The channel
shows the choice and words the introduction; `Relaying.introduce` carries it to the SME."""

from __future__ import annotations

from pydantic import BaseModel

from bot.domain import Dossier, EscalationRecord
from bot.escalation.core import ServiceCore
from bot.knowledge.providers import ProviderDirectory
from bot.knowledge.schema import Provider
from bot.store import UserRecord

INTRODUCTIONS_OFFERED = 3


class Introduction(BaseModel):
    """The thread and the providers that fit its SME (best first), or the one chosen with the SME
    to address; `refused` (a message key) when the ambassador may not, or nothing fits."""

    escalation: EscalationRecord | None = None
    providers: list[Provider] = []
    sme: UserRecord | None = None
    refused: str | None = None


class Introductions(ServiceCore):
    async def providers_to_introduce(
        self, escalation_id: int, telegram_user_id: int, directory: ProviderDirectory
    ) -> Introduction:
        """The providers to offer: those that fit the question, else any that fit where the SME
        is and what they do; refused "no_providers" when none does."""
        allowed = await self.may_answer(escalation_id, telegram_user_id, "introduce")
        record = allowed.escalation
        if not allowed.ok or record is None:
            return Introduction(refused=allowed.refused or "not_found")
        dossier = Dossier.model_validate(record.dossier)
        country, sector = dossier.profile.get("country"), dossier.profile.get("sector")
        found = directory.match(dossier.question, country, sector=sector)
        found = found or directory.match(country=country, sector=sector)
        if not found:
            return Introduction(escalation=record, refused="no_providers")
        return Introduction(escalation=record, providers=[m.provider for m in found[:INTRODUCTIONS_OFFERED]])

    async def provider_chosen(
        self, escalation_id: int, telegram_user_id: int, provider_id: str, directory: ProviderDirectory
    ) -> Introduction:
        """The provider the ambassador tapped, with the SME it is for (to word it in their language)."""
        allowed = await self.may_answer(escalation_id, telegram_user_id, "introduce")
        record = allowed.escalation
        if not allowed.ok or record is None:
            return Introduction(refused=allowed.refused or "not_found")
        provider = next((p for p in directory.providers if p.id == provider_id), None)
        sme = await self.sme_of(record)
        if provider is None or sme is None:
            return Introduction(escalation=record, refused="not_found")
        return Introduction(escalation=record, providers=[provider], sme=sme)
