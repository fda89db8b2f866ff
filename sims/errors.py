"""Errors about a results folder or a campaign that the CLI reports as one sentence, exit 2
(kept apart from `sims.campaigns.campaign` so the CLI can name them without loading compiled
code)."""


class CampaignError(Exception):
    """A campaign that cannot start or resume; the message is one sentence for the user."""
