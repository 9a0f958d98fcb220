"""Tools an SME uses in the conversation (the resource-efficiency calculator). Pure domain code:
no Telegram, no terminal; both front ends ask the same questions and show the same results."""
