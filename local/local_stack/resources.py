"""Creates the template's tables, buckets, queues and KMS keys in an AWS endpoint (moto in-process, moto
server, or anything that speaks the APIs).

The local stack and the integration tests both call ``create_stack_resources``, so the tables the
tests write to have the keys the deployed ones have, by construction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from local_stack.template import S3EventSource, StackTemplate


@dataclass
class CreatedResources:
    """What was created, by logical id: names for tables and buckets, URLs for queues."""

    tables: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    kms_keys: dict[str, str] = field(default_factory=dict)


def create_stack_resources(
    template: StackTemplate, session: Any, *, endpoint_url: str | None = None
) -> CreatedResources:
    """Creates every table, bucket (with its CORS rules) and queue of the template.

    ``session`` is a ``boto3.session.Session``; ``endpoint_url`` points its clients at a local
    endpoint (leave it out under moto's ``mock_aws``). Queues come first because a bucket may notify
    one. The S3 event sources of functions are not wired here: see ``connect_s3_event_sources``.
    """
    region = template.account.region
    sqs = session.client("sqs", region_name=region, endpoint_url=endpoint_url)
    dynamodb = session.client("dynamodb", region_name=region, endpoint_url=endpoint_url)
    s3 = session.client("s3", region_name=region, endpoint_url=endpoint_url)
    created = CreatedResources()

    for queue in template.queues.values():
        created.queues[queue.logical_id] = sqs.create_queue(QueueName=queue.name, Attributes=queue.attributes)[
            "QueueUrl"
        ]
    # A redrive policy names its dead-letter queue, which must exist first: a second pass.
    for queue in template.queues.values():
        if queue.dead_letter_target_arn:
            policy = {"deadLetterTargetArn": queue.dead_letter_target_arn}
            if queue.max_receive_count is not None:
                policy["maxReceiveCount"] = str(queue.max_receive_count)
            sqs.set_queue_attributes(
                QueueUrl=created.queues[queue.logical_id], Attributes={"RedrivePolicy": json.dumps(policy)}
            )

    for table in template.tables.values():
        dynamodb.create_table(**table.create_table_request())
        if table.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
        created.tables[table.logical_id] = table.name

    for bucket in template.buckets.values():
        request: dict[str, Any] = {"Bucket": bucket.name}
        if region != "us-east-1":
            request["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**request)
        if bucket.cors_rules:
            s3.put_bucket_cors(Bucket=bucket.name, CORSConfiguration={"CORSRules": bucket.cors_rules})
        if bucket.versioned:
            s3.put_bucket_versioning(Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"})
        if bucket.queue_notifications:
            s3.put_bucket_notification_configuration(
                Bucket=bucket.name,
                NotificationConfiguration={"QueueConfigurations": _template_queue_configurations(bucket)},
            )
        created.buckets[bucket.logical_id] = bucket.name

    kms = session.client("kms", region_name=region, endpoint_url=endpoint_url)
    for key in template.kms_keys.values():
        metadata = kms.create_key(KeySpec=key.key_spec, KeyUsage=key.key_usage, Description=key.logical_id)
        key_id = metadata["KeyMetadata"]["KeyId"]
        for alias in key.aliases:
            kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        created.kms_keys[key.logical_id] = key_id
    return created


def _template_queue_configurations(bucket: Any) -> list[dict[str, Any]]:
    return [
        _queue_configuration(notification.queue_arn, notification.events, notification.filter_rules)
        for notification in bucket.queue_notifications
    ]


def _queue_configuration(
    queue_arn: str, events: tuple[str, ...], filter_rules: tuple[tuple[str, str], ...], config_id: str = ""
) -> dict[str, Any]:
    configuration: dict[str, Any] = {"QueueArn": queue_arn, "Events": list(events)}
    if config_id:
        configuration["Id"] = config_id
    if filter_rules:
        configuration["Filter"] = {
            "Key": {"FilterRules": [{"Name": name, "Value": value} for name, value in filter_rules]}
        }
    return configuration


def s3_event_queue_name(template: StackTemplate, function_id: str) -> str:
    """The local stack's own queue that stands in for S3's direct invocation of one function."""
    return f"{template.account.stack_name}-s3-events-{function_id}"[:80]


def connect_s3_event_sources(template: StackTemplate, session: Any, *, endpoint_url: str) -> dict[str, str]:
    """Makes each bucket with S3 event sources notify an SQS queue per function.

    S3 cannot invoke a local process; moto server does deliver S3 notifications to SQS (honouring
    prefix and suffix filters), so a queue per function carries the events to the local stack's
    pump, which invokes the function as Lambda would. Answers the queue URL by function id.
    """
    region = template.account.region
    sqs = session.client("sqs", region_name=region, endpoint_url=endpoint_url)
    s3 = session.client("s3", region_name=region, endpoint_url=endpoint_url)
    queue_urls: dict[str, str] = {}
    by_bucket: dict[str, list[S3EventSource]] = {}
    for source in template.s3_event_sources:
        by_bucket.setdefault(source.bucket_id, []).append(source)
        if source.function_id not in queue_urls:
            # Long enough that a message is never redelivered while the pump hands it over.
            queue_urls[source.function_id] = sqs.create_queue(
                QueueName=s3_event_queue_name(template, source.function_id),
                Attributes={"VisibilityTimeout": "900"},
            )["QueueUrl"]
    for bucket_id, sources in by_bucket.items():
        bucket = template.buckets[bucket_id]
        configurations = _template_queue_configurations(bucket)
        for source in sources:
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_urls[source.function_id], AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            configurations.append(
                _queue_configuration(
                    queue_arn, source.events, source.filter_rules, f"{source.function_id}-{source.event_id}"
                )
            )
        s3.put_bucket_notification_configuration(
            Bucket=bucket.name, NotificationConfiguration={"QueueConfigurations": configurations}
        )
    return queue_urls
