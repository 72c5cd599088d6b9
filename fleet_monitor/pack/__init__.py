"""The negotiation pack: what elected officials and the mobility department take
into permit negotiations (issue 15). Figures from the shared definitions
(``history``, ``stats``, ``notices.dispute_figures``); one template for the staff
page and the PDF. See ``docs/pack.md``."""
