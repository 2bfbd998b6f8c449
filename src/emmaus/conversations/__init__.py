"""Stateful chats: the conversation store, the ConversationManager and the context builder."""
