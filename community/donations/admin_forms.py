"""The administrators' campaign form and the buttons of the campaigns list. Field names match the
rules' `field=`, so that a DomainError lands on its field. What makes a campaign valid is
campaigns.py's rule, in its words; the form reads what was typed (amounts in the campaign's
currency, days and times in the community's zone), bounds its lengths and refuses what cannot
be read."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from community.accounts.partners import partner_names
from community.core.dates import zone
from community.core.forms import CheckedForm, MoneyField, ZonedDateTimeField
from community.core.text import PRICE_TEXT_MAX, one_line, unix_lines
from community.donations import services
from community.donations.campaigns import STORY_MAX, CampaignFields
from community.donations.models import NAME_MAX, PARTNER_NAME_MAX, SLUG_MAX

# The partner select's values besides a directory id: no match, or a company typed by name.
NO_PARTNER, OTHER_PARTNER = "", "other"


class ActionForm(CheckedForm):
    """A button in the campaigns list: its CSRF token is all it sends."""

    flashes_errors = True


class OfferedMoneyField(MoneyField):
    """An amount read in the form's currency once that is one gifts are taken in (the currency's
    own field says what is wrong otherwise)."""

    def read(self, text: str, form):
        if form["currency"].data not in services.currencies():
            return None
        return super().read(text, form)


class CampaignForm(CheckedForm):
    slug = StringField(
        _l("Address name"),
        validators=[
            DataRequired(message=_l("Give the campaign an address name.")),
            Length(max=SLUG_MAX),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    name_ja = StringField(_l("Name (Japanese)"), validators=[Optional(), Length(max=NAME_MAX)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=NAME_MAX)])
    story_ja = TextAreaField(_l("Story (Japanese)"), validators=[Optional(), Length(max=STORY_MAX)])
    story_en = TextAreaField(_l("Story (English)"), validators=[Optional(), Length(max=STORY_MAX)])
    currency = SelectField(_l("Currency"), choices=[], validate_choice=False)
    goal = OfferedMoneyField(
        _l("Goal"),
        validators=[DataRequired(message=_l("Give the goal.")), Length(max=PRICE_TEXT_MAX)],
        currency_field="currency",
    )
    starts_at = ZonedDateTimeField(_l("Starts"), required=True)
    ends_at = ZonedDateTimeField(_l("Ends"), required=True)
    partner = SelectField(_l("Matching partner"), choices=[], validate_choice=False)
    partner_name = StringField(
        _l("Or the company's name, when it is not in the list"),
        validators=[Optional(), Length(max=PARTNER_NAME_MAX)],
    )
    cap = OfferedMoneyField(
        _l("The most the partner matches"),
        validators=[Optional(), Length(max=PRICE_TEXT_MAX)],
        currency_field="currency",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency.choices = [SelectChoice(code, code) for code in services.currencies()]
        self.partner.choices = [
            SelectChoice(NO_PARTNER, _l("None: gifts are not matched")),
            *(SelectChoice(str(p.id), p.name) for p in partner_names()),
            SelectChoice(OTHER_PARTNER, _l("Another company (give its name below)")),
        ]
        for field in (self.starts_at, self.ends_at):
            field.zone = str(zone().key)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.currency.data not in services.currencies():
            self.currency.errors = [*self.currency.errors, str(services.NOT_OFFERED)]
            valid = False
        known = {str(choice.value) for choice in self.partner.choices}
        if (self.partner.data or "") not in known:
            self.partner.errors = [
                *self.partner.errors,
                str(_l("Choose a partner company from the list.")),
            ]
            valid = False
        return valid

    def campaign_fields(self) -> CampaignFields:
        """What was typed, as the rule takes it (call once the form is validated)."""
        choice = self.partner.data or NO_PARTNER
        partner_id = int(choice) if choice not in (NO_PARTNER, OTHER_PARTNER) else None
        typed = one_line(self.partner_name.data) if choice == OTHER_PARTNER else ""
        return CampaignFields(
            slug=(self.slug.data or "").strip(),
            name_ja=(self.name_ja.data or "").strip(),
            name_en=(self.name_en.data or "").strip(),
            story_ja=unix_lines(self.story_ja.data).strip(),
            story_en=unix_lines(self.story_en.data).strip(),
            goal_minor=self.goal.data,
            currency=self.currency.data,
            starts_at=self.starts_at.data,
            ends_at=self.ends_at.data,
            match_partner_id=partner_id,
            match_partner_name=typed,
            match_cap_minor=self.cap.data if choice != NO_PARTNER else 0,
        )

    def show_campaign(self, campaign) -> None:
        """The form filled with what a campaign holds (for its edit page)."""
        for name in ("slug", "name_ja", "name_en", "story_ja", "story_en", "currency"):
            self[name].data = getattr(campaign, name)
        self.goal.currency = self.cap.currency = campaign.currency
        self.goal.data = campaign.goal_minor
        self.starts_at.data, self.ends_at.data = campaign.starts_at, campaign.ends_at
        self.cap.data = campaign.match_cap_minor or None
        if not campaign.is_matched:
            self.partner.data = NO_PARTNER
        elif campaign.match_partner_id is not None and any(
            str(campaign.match_partner_id) == str(choice.value) for choice in self.partner.choices
        ):
            self.partner.data = str(campaign.match_partner_id)
        else:
            self.partner.data = OTHER_PARTNER
            self.partner_name.data = campaign.match_partner_name
