"""Brand voice rules: banned phrases, required texts per campaign or label, hashtag range,
length per network, reading level (item 3)."""

from __future__ import annotations

from socialdesk.content.services import PostContent, create_post
from socialdesk.workflow import services, voice
from socialdesk.workflow.models import RequiredText


def test_text_problems_say_what_to_fix(workspace):
    settings = services.settings_for(workspace)
    settings.banned_phrases = ["best in town"]
    settings.hashtag_min, settings.hashtag_max = 1, 2
    settings.length_bounds = {"bluesky": [None, 20]}
    settings.max_reading_grade = 6
    text = "Simply the BEST in town, extraordinarily delicious, unbelievably comprehensive rye"
    problems = voice.text_problems(settings, text, networks=["bluesky"])
    assert problems == [
        "Remove “best in town”: it is on the banned list.",
        "Use at least 1 hashtags; the text has 0.",
        f"On bluesky the text should have at most 20 characters; it has {len(text)}.",
        f"Reading level is grade {voice.reading_grade(text)}; keep it at 6 or below with "
        "shorter sentences and words.",
    ]
    assert voice.text_problems(settings, "#rye #bread #bakery")[0] == (
        "Use at most 2 hashtags; the text has 3."
    )
    assert voice.text_problems(settings, "Our rye is good. #rye") == []


def test_campaigns_and_labels_require_their_disclaimers(workspace, creator, taxonomy, channel):
    RequiredText.objects.create(workspace=workspace, text="#ad", campaign=taxonomy["campaign"])
    RequiredText.objects.create(workspace=workspace, text="Contains nuts.", label=taxonomy["label"])
    post = create_post(
        workspace,
        creator,
        PostContent(
            text="Stollen is here #ad",
            campaign_id=taxonomy["campaign"].pk,
            label_ids=[taxonomy["label"].pk],
            channel_ids=[channel.pk],
        ),
    )
    problems = voice.post_problems(post, services.settings_for(workspace))
    assert problems == ["Add “Contains nuts.”: required for this post's campaign or labels."]
    unsaved = voice.post_problems(post, services.settings_for(workspace), text="Contains nuts.")
    assert unsaved == ["Add “#ad”: required for this post's campaign or labels."]
