import datetime

from django.db import migrations, models

import socialdesk.workspaces.models

# The settings form accepted 0 hours, which marked every post missed a moment after its time.
MINIMUM = datetime.timedelta(minutes=15)


def raise_to_minimum(apps, schema_editor):
    Workspace = apps.get_model("workspaces", "Workspace")
    Workspace.objects.filter(late_window__lt=MINIMUM).update(late_window=MINIMUM)


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0005_erased_person"),
    ]

    operations = [
        migrations.AlterField(
            model_name="workspace",
            name="late_window",
            field=models.DurationField(
                default=datetime.timedelta(seconds=21600),
                validators=[socialdesk.workspaces.models.validate_late_window],
            ),
        ),
        migrations.RunPython(raise_to_minimum, migrations.RunPython.noop),
    ]
