"""Write the approval fact (``Post.approved_version``) for posts approved before it existed.

The rule lives in ``workflow.approvals.record_approval`` and is not copied here: a copy would
drift. The live function runs only when posts exist, which on a new database they never do at
this point, so the migration stays valid however the models change later.
"""

from django.db import migrations


def record(apps, schema_editor):
    historical = apps.get_model("content", "Post")
    if not historical.objects.exists():
        return
    from socialdesk.content.models import Post
    from socialdesk.workflow.approvals import lane_approvals_met

    for post in Post.objects.filter(approved_version=None).iterator():
        version = post.latest_version
        if version is not None and lane_approvals_met(post):
            Post.objects.filter(pk=post.pk).update(approved_version=version)


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0001_workflow"),
        ("content", "0004_post_approved_version"),
    ]

    operations = [migrations.RunPython(record, migrations.RunPython.noop)]
