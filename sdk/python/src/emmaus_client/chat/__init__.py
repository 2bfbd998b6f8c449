"""The migration guide's ChatService on the client-managed store, with gradual roll-out and
shadow mode (`pip install 'emmaus-client[storage]'`)."""

from emmaus_client.chat.rollout import Rollout
from emmaus_client.chat.service import V1_CHAT, ChatService, ChatTurn
from emmaus_client.chat.shadow import ShadowReport
from emmaus_client.chat.summaries import CompletionSummarizer

__all__ = ["V1_CHAT", "ChatService", "ChatTurn", "CompletionSummarizer", "Rollout", "ShadowReport"]
