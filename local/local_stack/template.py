"""template.yaml read for local use: short tags understood, intrinsics resolved, resources typed.

CloudFormation resolves ``!Ref``, ``!Sub``, ``!GetAtt`` and friends at deploy time against a real
account. Locally they resolve against a fixed local account (``LocalAccount``) and the parameters'
defaults, with physical names that are stable and readable (``<stack>-<LogicalId>``) instead of
CloudFormation's random suffixes. Only the intrinsics template.yaml uses are understood (``Ref``,
``Fn::Sub``, ``Fn::GetAtt``, ``Fn::If``, ``Fn::Equals``, ``Fn::Not``, ``Condition``); any other is an
error that names it, so a template that starts using one fails at start-up, not later. Everything
the local stack and the tests need about tables, buckets, queues, functions, routes, the authorizer
and the event sources comes from here, so nothing about names, keys or routes is ever copied by hand.

SAM's transform is applied only as far as the local stack needs it: ``Globals`` are merged into
functions and APIs with SAM's rules, ``Events`` become routes and event sources, and a function's
``Layers`` that name a ``AWS::Serverless::LayerVersion`` of the template become import paths.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3  # SAM's defaults when neither the function nor Globals say
LAMBDA_DEFAULT_MEMORY_MB = 128
LAMBDA_ASYNC_DEFAULT_RETRIES = 2  # an asynchronous invocation is tried at most three times
SQS_EVENT_DEFAULT_BATCH_SIZE = 10
AUTHORIZER_DEFAULT_TTL_SECONDS = 300
IMPLICIT_API_ID = "ServerlessRestApi"  # the API SAM creates for Api events without RestApiId
IMPLICIT_API_STAGE = "Prod"


class TemplateError(ValueError):
    """The template cannot be read or resolved for local use; the message says where."""


@dataclass(frozen=True)
class LocalAccount:
    """The pseudo parameters of the local stack: one fixed, fake account in one region."""

    stack_name: str = "contacts-import-local"
    account_id: str = "123456789012"  # moto's default account, so ARNs match what moto reports
    region: str = "us-east-1"
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    def pseudo_parameters(self) -> dict[str, Any]:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:"
                f"stack/{self.stack_name}/00000000-0000-0000-0000-000000000000"
            ),
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::NotificationARNs": [],
        }


# ---------------------------------------------------------------------------------------- YAML


class CloudFormationLoader(yaml.SafeLoader):
    """A safe YAML loader that turns ``!Ref x`` into ``{"Ref": "x"}``, ``!Sub s`` into
    ``{"Fn::Sub": "s"}`` and so on, as CloudFormation itself reads short tags."""


# CloudFormation reads ``2010-09-09`` as a string; plain YAML would make it a date.
CloudFormationLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_short_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        value = [logical_id, attribute]
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_short_tag)


def read_template_document(path: Path) -> dict[str, Any]:
    """The template as plain data, short tags turned into their long forms."""
    try:
        with path.open(encoding="utf-8") as stream:
            document = yaml.load(stream, Loader=CloudFormationLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path} is not a CloudFormation template: no Resources")
    return document


# ------------------------------------------------------------------------------- resolution


class _NoValue:
    """``!Ref AWS::NoValue``: the property or list item disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()
_INTRINSICS_WITH_ONE_KEY = ("Ref", "Condition")
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _is_intrinsic(node: Any) -> bool:
    if not isinstance(node, dict) or len(node) != 1:
        return False
    (key,) = node
    return key == "Ref" or key.startswith("Fn::") or (key == "Condition" and isinstance(node[key], str))


def _stringify(value: Any) -> str:
    """How CloudFormation writes a value into a string property (Sub, Join, env variables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        raise TemplateError(f"a string was expected, got {value!r}")
    return str(value)


def _fake_api_id(logical_id: str, stack_name: str) -> str:
    # API ids are ten lowercase letters and digits; a hash keeps them stable from run to run.
    digest = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[byte % len(alphabet)] for byte in digest[:10])


_NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Serverless::SimpleTable": "TableName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::KMS::Alias": "AliasName",  # Ref of an alias is its name, "alias/..."
}


class Resolver:
    """Resolves intrinsic functions of one template for the local account."""

    def __init__(
        self,
        document: Mapping[str, Any],
        account: LocalAccount,
        parameter_values: Mapping[str, Any],
    ) -> None:
        self.account = account
        self.resources: dict[str, dict[str, Any]] = document.get("Resources") or {}
        self.parameter_values = dict(parameter_values)
        self.warnings: list[str] = []
        self._conditions: dict[str, Any] = document.get("Conditions") or {}
        self._pseudo = account.pseudo_parameters()
        self._condition_values: dict[str, bool] = {}
        self._names: dict[str, str] = {}
        self._naming: set[str] = set()

    # -- public

    def resolve(self, node: Any) -> Any:
        if isinstance(node, dict):
            if _is_intrinsic(node):
                return self._intrinsic(node)
            resolved_map = {key: self.resolve(value) for key, value in node.items()}
            return {key: value for key, value in resolved_map.items() if value is not NO_VALUE}
        if isinstance(node, list):
            return [item for item in (self.resolve(value) for value in node) if item is not NO_VALUE]
        return node

    def condition(self, name: str) -> bool:
        if name not in self._condition_values:
            if name not in self._conditions:
                raise TemplateError(f"unknown condition {name!r}")
            self._condition_values[name] = self._truth(self._conditions[name])
        return self._condition_values[name]

    def resource_exists(self, logical_id: str) -> bool:
        resource = self.resources.get(logical_id)
        if resource is None:
            return False
        condition = resource.get("Condition")
        return condition is None or self.condition(condition)

    def physical_name(self, logical_id: str) -> str:
        """The resource's name: its name property when the template sets one, else
        ``<stack>-<LogicalId>`` (CloudFormation would add a random suffix)."""
        if logical_id in self._names:
            return self._names[logical_id]
        if logical_id in self._naming:
            raise TemplateError(f"the name of {logical_id} refers to itself")
        self._naming.add(logical_id)
        try:
            resource = self._resource(logical_id)
            resource_type = resource.get("Type", "")
            properties = resource.get("Properties") or {}
            name_property = _NAME_PROPERTY.get(resource_type)
            explicit = self.resolve(properties.get(name_property)) if name_property else None
            if explicit not in (None, NO_VALUE):
                name = _stringify(explicit)
            else:
                name = f"{self.account.stack_name}-{logical_id}"
                if resource_type == "AWS::S3::Bucket":
                    name = name.lower()  # bucket names are lower case
                if resource_type == "AWS::SQS::Queue" and properties.get("FifoQueue") in (True, "true"):
                    name += ".fifo"
        finally:
            self._naming.discard(logical_id)
        self._names[logical_id] = name
        return name

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        a = self.account
        region_part = a.region if region else ""
        account_part = a.account_id if account else ""
        return f"arn:{a.partition}:{service}:{region_part}:{account_part}:{resource}"

    def queue_url(self, name: str) -> str:
        # The AWS form, not the endpoint's: SQS clients pointed at any endpoint accept it.
        a = self.account
        return f"https://sqs.{a.region}.{a.url_suffix}/{a.account_id}/{name}"

    def api_id(self, logical_id: str) -> str:
        return _fake_api_id(logical_id, self.account.stack_name)

    # -- intrinsics

    def _resource(self, logical_id: str) -> dict[str, Any]:
        try:
            return self.resources[logical_id]
        except KeyError:
            raise TemplateError(f"no resource or parameter named {logical_id!r}") from None

    def _intrinsic(self, node: dict[str, Any]) -> Any:
        ((name, argument),) = node.items()
        if name == "Ref":
            return self._ref(self.resolve(argument))
        if name == "Condition":
            return self.condition(argument)
        handler = getattr(self, "_fn_" + name[len("Fn::") :].lower(), None)
        if handler is None:
            raise TemplateError(f"{name} is not supported by the local stack")
        return handler(argument)

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self.parameter_values:
            return self.parameter_values[name]
        api_id, _, generated = name.partition(".")
        if generated in ("Stage", "Deployment") and api_id in self.resources:
            # SAM's references to the stage and deployment it generates for an API.
            properties = self.resources[api_id].get("Properties") or {}
            if generated == "Stage":
                return _stringify(self.resolve(properties.get("StageName", IMPLICIT_API_STAGE)))
            return f"{self.api_id(api_id)}-deployment"
        resource = self._resource(name)
        resource_type = resource.get("Type", "")
        if resource_type == "AWS::SQS::Queue":
            return self.queue_url(self.physical_name(name))
        if resource_type == "AWS::SNS::Topic":
            return self.arn("sns", self.physical_name(name))
        if resource_type in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
            return self.arn("lambda", f"layer:{self.physical_name(name)}:1")
        if resource_type in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi", "AWS::Serverless::HttpApi"):
            return self.api_id(name)
        return self.physical_name(name)

    def _fn_getatt(self, argument: Any) -> Any:
        logical_id, attribute = (self.resolve(part) for part in argument)
        resource_type = self._resource(logical_id).get("Type", "")
        name = self.physical_name(logical_id)
        match resource_type, attribute:
            case ("AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable", "Arn"):
                return self.arn("dynamodb", f"table/{name}")
            case ("AWS::DynamoDB::Table", "StreamArn"):
                return self.arn("dynamodb", f"table/{name}/stream/1970-01-01T00:00:00.000")
            case ("AWS::S3::Bucket", "Arn"):
                return self.arn("s3", name, region=False, account=False)
            case ("AWS::S3::Bucket", "DomainName"):
                return f"{name}.s3.{self.account.url_suffix}"
            case ("AWS::S3::Bucket", "RegionalDomainName"):
                return f"{name}.s3.{self.account.region}.{self.account.url_suffix}"
            case ("AWS::SQS::Queue", "Arn"):
                return self.arn("sqs", name)
            case ("AWS::SQS::Queue", "QueueName"):
                return name
            case ("AWS::SQS::Queue", "QueueUrl"):
                return self.queue_url(name)
            case ("AWS::SNS::Topic", "TopicArn"):
                return self.arn("sns", name)
            case ("AWS::SNS::Topic", "TopicName"):
                return name
            case ("AWS::Serverless::Function" | "AWS::Lambda::Function", "Arn"):
                return self.arn("lambda", f"function:{name}")
            case ("AWS::Serverless::Api" | "AWS::ApiGateway::RestApi", "RootResourceId"):
                return self.api_id(logical_id)[:6]
            case ("AWS::IAM::Role", "Arn"):
                return self.arn("iam", f"role/{name}", region=False)
        # Anything else gets an ARN-shaped value: enough for environment variables and policies.
        service = resource_type.split("::")[1].lower() if resource_type.count("::") >= 2 else "local"
        return self.arn(service, f"{logical_id}/{attribute}".lower() if attribute != "Arn" else name)

    def _fn_sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], {k: self.resolve(v) for k, v in (argument[1] or {}).items()}
        else:
            text, variables = argument, {}

        def substitute(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"  # ${!Literal} is written out as ${Literal}
            if expression in variables:
                return _stringify(variables[expression])
            if "." in expression and expression.split(".", 1)[0] in self.resources:
                return _stringify(self._fn_getatt(expression.split(".", 1)))
            return _stringify(self._ref(expression))

        return _SUB_VARIABLE.sub(substitute, self.resolve(text))

    def _fn_if(self, argument: Any) -> Any:
        condition_name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(condition_name) else when_false)

    def _fn_equals(self, argument: Any) -> bool:
        left, right = (self.resolve(value) for value in argument)
        return _stringify(left) == _stringify(right)

    def _fn_not(self, argument: Any) -> bool:
        return not self._truth(argument[0])

    def _truth(self, node: Any) -> bool:
        value = self.resolve(node)
        if not isinstance(value, bool):
            raise TemplateError(f"a condition was expected, got {value!r}")
        return value


# ------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table of the template, with what creating it needs."""

    logical_id: str
    name: str
    arn: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    global_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)
    local_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)
    ttl_attribute: str | None = None
    billing_mode: str = "PAY_PER_REQUEST"
    provisioned_throughput: dict[str, int] | None = None
    stream_view_type: str | None = None

    @property
    def hash_key(self) -> str:
        return next(key["AttributeName"] for key in self.key_schema if key["KeyType"] == "HASH")

    @property
    def range_key(self) -> str | None:
        return next((key["AttributeName"] for key in self.key_schema if key["KeyType"] == "RANGE"), None)

    def create_table_request(self) -> dict[str, Any]:
        """Keyword arguments of ``dynamodb.create_table`` for this table."""
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeySchema": self.key_schema,
            "AttributeDefinitions": self.attribute_definitions,
            "BillingMode": self.billing_mode,
        }
        if self.provisioned_throughput:
            request["ProvisionedThroughput"] = self.provisioned_throughput
        if self.global_secondary_indexes:
            request["GlobalSecondaryIndexes"] = self.global_secondary_indexes
        if self.local_secondary_indexes:
            request["LocalSecondaryIndexes"] = self.local_secondary_indexes
        if self.stream_view_type:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": self.stream_view_type}
        return request


@dataclass(frozen=True)
class KmsKeySpec:
    """An ``AWS::KMS::Key`` of the template, with the aliases (``AWS::KMS::Alias``) that name it:
    the functions reach a key by an alias, since the local endpoint makes up its own key ids."""

    logical_id: str
    key_spec: str
    key_usage: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class QueueNotification:
    """A bucket notification to an SQS queue declared by the template itself."""

    queue_arn: str
    events: tuple[str, ...]
    filter_rules: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class BucketSpec:
    """An S3 bucket of the template: its name, CORS rules (in the S3 API's shape) and versioning."""

    logical_id: str
    name: str
    arn: str
    cors_rules: list[dict[str, Any]] = field(default_factory=list)
    versioned: bool = False
    queue_notifications: tuple[QueueNotification, ...] = ()


@dataclass(frozen=True)
class QueueSpec:
    """An SQS queue of the template, with its attributes in the SQS API's shape."""

    logical_id: str
    name: str
    url: str
    arn: str
    fifo: bool = False
    attributes: dict[str, str] = field(default_factory=dict)
    dead_letter_target_arn: str | None = None
    max_receive_count: int | None = None
    visibility_timeout_seconds: int = 30


@dataclass(frozen=True)
class AsyncInvokeConfig:
    """What Lambda does when an asynchronous invocation (an S3 event) keeps failing."""

    maximum_retry_attempts: int = LAMBDA_ASYNC_DEFAULT_RETRIES
    dead_letter_queue_id: str | None = None  # DeadLetterQueue: the event itself goes there
    on_failure_queue_id: str | None = None  # EventInvokeConfig OnFailure: an invocation record


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function as the local runtime runs it."""

    logical_id: str
    function_name: str
    arn: str
    code_dir: Path
    handler: str  # "module.function", as Lambda's Python runtime reads it
    runtime: str | None
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]
    layer_dirs: tuple[Path, ...] = ()
    reserved_concurrency: int | None = None
    async_config: AsyncInvokeConfig = AsyncInvokeConfig()
    # The AWS services its Policies allow it to call ("dynamodb", "s3", "sqs", "events", "kms"...).
    services: frozenset[str] = frozenset()

    @property
    def handler_module(self) -> str:
        return self.handler.rpartition(".")[0].replace("/", ".")

    @property
    def handler_function(self) -> str:
        return self.handler.rpartition(".")[2]

    @property
    def handler_file(self) -> Path:
        return self.code_dir / (self.handler_module.replace(".", "/") + ".py")


@dataclass(frozen=True)
class AuthorizerSpec:
    """A Lambda authorizer of an API: how API Gateway calls it and caches its answer."""

    name: str
    function_id: str
    payload_type: str  # "REQUEST" or "TOKEN"
    identity_headers: tuple[str, ...] = ()
    identity_query_strings: tuple[str, ...] = ()
    identity_stage_variables: tuple[str, ...] = ()
    identity_context: tuple[str, ...] = ()
    reauthorize_every_seconds: int = AUTHORIZER_DEFAULT_TTL_SECONDS
    validation_expression: str | None = None  # TOKEN authorizers only


@dataclass(frozen=True)
class GatewayResponseSpec:
    """An API Gateway gateway response (UNAUTHORIZED, ACCESS_DENIED, ...) from the template."""

    response_type: str
    status_code: int | None
    headers: dict[str, str] = field(default_factory=dict)  # name -> mapping expression
    templates: dict[str, str] = field(default_factory=dict)  # content type -> body template


@dataclass(frozen=True)
class ThrottleSpec:
    """A MethodSettings throttle: ``resource_path``/``http_method`` may be ``/*`` and ``*``."""

    resource_path: str
    http_method: str
    rate_limit: float
    burst_limit: int


@dataclass(frozen=True)
class UsagePlanSpec:
    """An ``AWS::ApiGateway::UsagePlan`` on an API's stage: the throttle of each of its keys."""

    logical_id: str
    rate_limit: float | None = None
    burst_limit: int | None = None


@dataclass(frozen=True)
class CorsSpec:
    """SAM's ``Cors`` of an API: the answer to preflight requests."""

    allow_origin: str
    allow_methods: str | None = None
    allow_headers: str | None = None
    max_age: str | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class ApiSpec:
    """A REST API (``AWS::Serverless::Api``, or SAM's implicit one)."""

    logical_id: str
    api_id: str
    stage_name: str
    binary_media_types: tuple[str, ...] = ()
    authorizers: dict[str, AuthorizerSpec] = field(default_factory=dict)
    default_authorizer: str | None = None
    gateway_responses: dict[str, GatewayResponseSpec] = field(default_factory=dict)
    stage_variables: dict[str, str] = field(default_factory=dict)
    throttles: tuple[ThrottleSpec, ...] = ()
    cors: CorsSpec | None = None
    api_key_required: bool = False  # SAM's Auth.ApiKeyRequired: every route's default
    api_key_source: str = "HEADER"  # or AUTHORIZER: the authorizer's usageIdentifierKey
    usage_plans: tuple[UsagePlanSpec, ...] = ()


@dataclass(frozen=True)
class ApiRoute:
    """One route: a function's ``Type: Api`` event."""

    api_id: str  # the API's logical id
    path: str  # the template's resource path, e.g. /imports/{job_id}
    method: str  # upper case; ANY matches every method
    function_id: str
    event_id: str
    authorizer: str | None  # the authorizer's name, None for an open route
    api_key_required: bool = False


@dataclass(frozen=True)
class S3EventSource:
    """A function's ``Type: S3`` event: which bucket events invoke it, asynchronously."""

    function_id: str
    event_id: str
    bucket_id: str
    bucket_name: str
    events: tuple[str, ...]
    filter_rules: tuple[tuple[str, str], ...] = ()  # ("prefix" | "suffix", value)

    def matches(self, event_name: str, key: str) -> bool:
        """Whether S3 would notify for this event (e.g. ``s3:ObjectCreated:Put``) and raw key."""
        if not any(
            wanted == event_name or (wanted.endswith(":*") and event_name.startswith(wanted[:-1]))
            for wanted in self.events
        ):
            return False
        for rule, value in self.filter_rules:
            if (rule == "prefix" and not key.startswith(value)) or (rule == "suffix" and not key.endswith(value)):
                return False
        return True


@dataclass(frozen=True)
class SqsEventSource:
    """A function's ``Type: SQS`` event: the queue Lambda polls for it, and how."""

    function_id: str
    event_id: str
    queue_id: str
    batch_size: int = SQS_EVENT_DEFAULT_BATCH_SIZE
    maximum_batching_window_seconds: int = 0
    report_batch_item_failures: bool = False
    enabled: bool = True
    maximum_concurrency: int | None = None


@dataclass(frozen=True)
class ScheduleEventSource:
    """A function's ``Type: Schedule`` event: EventBridge invokes it every ``rate_seconds``."""

    function_id: str
    event_id: str
    expression: str
    rate_seconds: float
    rule_arn: str
    enabled: bool = True
    input: str | None = None


_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_RATE_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float | None:
    """Seconds between invocations of ``rate(N unit)``; None for any other expression (cron)."""
    match = _RATE.match(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * _RATE_UNIT_SECONDS[match.group(2).rstrip("s")]


@dataclass(frozen=True)
class StackTemplate:
    """Everything the local stack serves, resolved from one template."""

    path: Path
    project_root: Path
    account: LocalAccount
    parameters: dict[str, Any]
    tables: dict[str, TableSpec]
    buckets: dict[str, BucketSpec]
    queues: dict[str, QueueSpec]
    functions: dict[str, FunctionSpec]
    apis: dict[str, ApiSpec]
    routes: tuple[ApiRoute, ...]
    s3_event_sources: tuple[S3EventSource, ...]
    sqs_event_sources: tuple[SqsEventSource, ...]
    outputs: dict[str, Any]
    warnings: tuple[str, ...] = ()
    schedule_event_sources: tuple[ScheduleEventSource, ...] = ()
    kms_keys: dict[str, KmsKeySpec] = field(default_factory=dict)

    def function(self, logical_id: str) -> FunctionSpec:
        try:
            return self.functions[logical_id]
        except KeyError:
            known = ", ".join(sorted(self.functions)) or "none"
            raise KeyError(f"no function {logical_id!r} in {self.path.name} (functions: {known})") from None

    def table_names(self) -> dict[str, str]:
        return {logical_id: table.name for logical_id, table in self.tables.items()}

    @property
    def services(self) -> frozenset[str]:
        """Every AWS service some function's Policies allow it to call."""
        return frozenset().union(*(spec.services for spec in self.functions.values()))

    def bucket_by_name(self, name: str) -> BucketSpec | None:
        return next((bucket for bucket in self.buckets.values() if bucket.name == name), None)


# SAM policy templates name their service first (DynamoDBCrudPolicy, S3ReadPolicy,
# SQSSendMessagePolicy, EventBridgePutEventsPolicy, KMSDecryptPolicy...): the action prefix of each.
_POLICY_TEMPLATE_SERVICES = {
    "DynamoDB": "dynamodb",
    "S3": "s3",
    "SQS": "sqs",
    "EventBridge": "events",
    "KMS": "kms",
    "SNS": "sns",
    "SSM": "ssm",
    "SecretsManager": "secretsmanager",
    "Lambda": "lambda",
    "StepFunctions": "states",
    "CloudWatch": "cloudwatch",
}


def policy_services(policies: Any) -> frozenset[str]:
    """The services a function's ``Policies`` reach: SAM policy templates by their name, and the
    action prefixes of inline statements (``kms:GenerateMac`` is ``kms``). A managed policy named
    by ARN says nothing here and adds none."""
    if isinstance(policies, dict | str):
        policies = [policies]
    services: set[str] = set()
    for policy in policies or ():
        if not isinstance(policy, dict):
            continue
        for name, value in policy.items():
            service = next((svc for prefix, svc in _POLICY_TEMPLATE_SERVICES.items() if name.startswith(prefix)), None)
            if service:
                services.add(service)
            elif name == "Statement":
                statements = value if isinstance(value, list) else [value]
                for statement in statements:
                    actions = statement.get("Action", ()) if isinstance(statement, dict) else ()
                    for action in [actions] if isinstance(actions, str) else actions:
                        if isinstance(action, str) and ":" in action:
                            services.add(action.split(":", 1)[0].lower())
    return frozenset(services)


# ------------------------------------------------------------------------------- loading


def default_template_path() -> Path:
    """``template.yaml`` in the working directory or above, else the repository's own."""
    for directory in (Path.cwd(), *Path.cwd().parents):
        candidate = directory / "template.yaml"
        if candidate.is_file():
            return candidate
    return Path(__file__).resolve().parents[2] / "template.yaml"


def load_template(
    path: Path | str | None = None,
    *,
    project_root: Path | str | None = None,
    account: LocalAccount | None = None,
    parameter_overrides: Mapping[str, str] | None = None,
) -> StackTemplate:
    """Reads and resolves a template. Code paths (CodeUri, ContentUri) are taken relative to
    ``project_root``, which is the template's directory unless given."""
    template_path = Path(path) if path else default_template_path()
    root = Path(project_root) if project_root else template_path.parent
    document = read_template_document(template_path)
    account = account or LocalAccount()
    parameters = _parameter_values(document, parameter_overrides or {})
    resolver = Resolver(document, account, parameters)
    return _Builder(document, resolver, template_path.resolve(), root.resolve()).build()


def _parameter_values(document: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    declared = document.get("Parameters") or {}
    unknown = set(overrides) - set(declared)
    if unknown:
        raise TemplateError(f"parameter overrides name no parameter of the template: {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name, declaration in declared.items():
        if name in overrides:
            value: Any = overrides[name]
        elif "Default" in declaration:
            value = declaration["Default"]
        else:
            raise TemplateError(f"parameter {name} has no Default; pass it with --parameter-overrides")
        if str(declaration.get("Type", "")).startswith(("CommaDelimitedList", "List<")):
            value = value if isinstance(value, list) else [item.strip() for item in str(value).split(",")]
        else:
            value = _stringify(value)  # CloudFormation hands every other parameter over as a string
        values[name] = value
    return values


def _merge_sam_globals(global_properties: Any, own_properties: Any) -> Any:
    """SAM's rule: the resource's own values win, maps merge, lists add up (globals first)."""
    if own_properties is None:
        return copy.deepcopy(global_properties)
    if (
        isinstance(global_properties, dict)
        and isinstance(own_properties, dict)
        and not _is_intrinsic(global_properties)
        and not _is_intrinsic(own_properties)
    ):
        merged = copy.deepcopy(global_properties)
        for key, value in own_properties.items():
            merged[key] = _merge_sam_globals(merged[key], value) if key in merged else copy.deepcopy(value)
        return merged
    if isinstance(global_properties, list) and isinstance(own_properties, list):
        return copy.deepcopy(global_properties) + copy.deepcopy(own_properties)
    return copy.deepcopy(own_properties)


_GLOBALS_SECTION = {
    "AWS::Serverless::Function": "Function",
    "AWS::Serverless::Api": "Api",
    "AWS::Serverless::HttpApi": "HttpApi",
    "AWS::Serverless::SimpleTable": "SimpleTable",
    "AWS::Serverless::LayerVersion": "LayerVersion",
}


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value in (None, NO_VALUE):
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


def _unquote_sam(value: Any) -> str | None:
    """SAM writes literal header values in single quotes (``"'*'"``)."""
    if value is None:
        return None
    text = _stringify(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


class _Builder:
    """Turns the resolved template into the typed model, one resource kind at a time."""

    def __init__(self, document: dict[str, Any], resolver: Resolver, path: Path, root: Path) -> None:
        self.document = document
        self.resolver = resolver
        self.path = path
        self.root = root
        self.globals = document.get("Globals") or {}
        self.raw: dict[str, dict[str, Any]] = {}  # properties with SAM globals merged, unresolved
        for logical_id, resource in resolver.resources.items():
            if not resolver.resource_exists(logical_id):
                continue
            properties = resource.get("Properties") or {}
            section = _GLOBALS_SECTION.get(resource.get("Type", ""))
            if section and section in self.globals:
                properties = _merge_sam_globals(self.globals[section], properties)
            self.raw[logical_id] = properties
        self.resolved = {logical_id: resolver.resolve(props) for logical_id, props in self.raw.items()}

    def of_type(self, *types: str) -> Iterable[str]:
        return (lid for lid in self.raw if self.resolver.resources[lid].get("Type") in types)

    def build(self) -> StackTemplate:
        queues = {lid: self.queue(lid) for lid in self.of_type("AWS::SQS::Queue")}
        tables = {lid: self.table(lid) for lid in self.of_type("AWS::DynamoDB::Table")}
        tables |= {lid: self.simple_table(lid) for lid in self.of_type("AWS::Serverless::SimpleTable")}
        buckets = {lid: self.bucket(lid) for lid in self.of_type("AWS::S3::Bucket")}
        layers = {lid: self.layer_dir(lid) for lid in self.of_type("AWS::Serverless::LayerVersion")}
        function_ids = list(self.of_type("AWS::Serverless::Function"))
        functions = {lid: self.function(lid, layers, queues) for lid in function_ids}
        apis = {lid: self.api(lid, functions) for lid in self.of_type("AWS::Serverless::Api")}
        routes: list[ApiRoute] = []
        s3_sources: list[S3EventSource] = []
        sqs_sources: list[SqsEventSource] = []
        schedules: list[ScheduleEventSource] = []
        for lid in function_ids:
            for event_id, event in (self.raw[lid].get("Events") or {}).items():
                event_type = event.get("Type")
                resolved = self.resolved[lid]["Events"][event_id].get("Properties") or {}
                raw = event.get("Properties") or {}
                if event_type == "Api":
                    routes.append(self.route(lid, event_id, raw, resolved, apis, functions))
                elif event_type == "S3":
                    s3_sources.append(self.s3_source(lid, event_id, raw, resolved, buckets))
                elif event_type == "SQS":
                    sqs_sources.append(self.sqs_source(lid, event_id, raw, resolved, queues))
                elif event_type == "Schedule" and (schedule := self.schedule_source(lid, event_id, resolved)):
                    schedules.append(schedule)
                else:
                    self.resolver.warnings.append(
                        f"{lid}.{event_id}: events of Type {event_type} are not served locally"
                    )
        outputs = {
            name: self.resolver.resolve(output.get("Value"))
            for name, output in (self.document.get("Outputs") or {}).items()
            if output.get("Condition") is None or self.resolver.condition(output["Condition"])
        }
        return StackTemplate(
            path=self.path,
            project_root=self.root,
            account=self.resolver.account,
            parameters=dict(self.resolver.parameter_values),
            tables=tables,
            buckets=buckets,
            queues=queues,
            functions=functions,
            apis=apis,
            routes=tuple(routes),
            s3_event_sources=tuple(s3_sources),
            sqs_event_sources=tuple(sqs_sources),
            schedule_event_sources=tuple(schedules),
            outputs=outputs,
            warnings=tuple(self.resolver.warnings),
            kms_keys={lid: self.kms_key(lid) for lid in self.of_type("AWS::KMS::Key")},
        )

    def kms_key(self, logical_id: str) -> KmsKeySpec:
        properties = self.resolved[logical_id]
        aliases = tuple(
            str(self.resolved[alias]["AliasName"])
            for alias in self.of_type("AWS::KMS::Alias")
            if self.raw[alias].get("TargetKeyId") == {"Ref": logical_id}
        )
        return KmsKeySpec(
            logical_id,
            str(properties.get("KeySpec", "SYMMETRIC_DEFAULT")),
            str(properties.get("KeyUsage", "ENCRYPT_DECRYPT")),
            aliases,
        )

    # -- references back to logical ids

    def referenced_id(self, raw: Any, resolved: Any, candidates: Mapping[str, Any], what: str) -> str:
        """The logical id a property points at: from ``!Ref X``/``!GetAtt X.Arn`` when written so,
        else by matching the resolved name or ARN against the template's resources."""
        if isinstance(raw, dict) and "Ref" in raw and raw["Ref"] in candidates:
            return raw["Ref"]
        if isinstance(raw, dict) and "Fn::GetAtt" in raw and raw["Fn::GetAtt"][0] in candidates:
            return raw["Fn::GetAtt"][0]
        for logical_id, spec in candidates.items():
            if resolved in {getattr(spec, attr, None) for attr in ("name", "arn", "url")}:
                return logical_id
        raise TemplateError(f"{what} {resolved!r} is not a resource of the template")

    # -- resources

    def table(self, lid: str) -> TableSpec:
        props = self.resolved[lid]
        ttl = props.get("TimeToLiveSpecification") or {}
        stream = props.get("StreamSpecification") or {}
        indexes = [
            {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")}
            for index in props.get("GlobalSecondaryIndexes") or []
        ]
        return TableSpec(
            logical_id=lid,
            name=self.resolver.physical_name(lid),
            arn=self.resolver.arn("dynamodb", f"table/{self.resolver.physical_name(lid)}"),
            key_schema=props["KeySchema"],
            attribute_definitions=props["AttributeDefinitions"],
            global_secondary_indexes=indexes,
            local_secondary_indexes=list(props.get("LocalSecondaryIndexes") or []),
            ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled") in (True, "true") else None,
            billing_mode=props.get("BillingMode", "PROVISIONED"),
            provisioned_throughput=props.get("ProvisionedThroughput"),
            stream_view_type=stream.get("StreamViewType"),
        )

    def simple_table(self, lid: str) -> TableSpec:
        props = self.resolved[lid]
        primary = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
        attribute_type = {"String": "S", "Number": "N", "Binary": "B"}[primary.get("Type", "String")]
        name = self.resolver.physical_name(lid)
        return TableSpec(
            logical_id=lid,
            name=name,
            arn=self.resolver.arn("dynamodb", f"table/{name}"),
            key_schema=[{"AttributeName": primary["Name"], "KeyType": "HASH"}],
            attribute_definitions=[{"AttributeName": primary["Name"], "AttributeType": attribute_type}],
            billing_mode="PROVISIONED" if props.get("ProvisionedThroughput") else "PAY_PER_REQUEST",
            provisioned_throughput=props.get("ProvisionedThroughput"),
        )

    def bucket(self, lid: str) -> BucketSpec:
        props = self.resolved[lid]
        name = self.resolver.physical_name(lid)
        cors_rules = []
        for rule in (props.get("CorsConfiguration") or {}).get("CorsRules") or []:
            # CloudFormation spells some CORS fields differently from the S3 API.
            s3_rule: dict[str, Any] = {
                "AllowedMethods": rule["AllowedMethods"],
                "AllowedOrigins": rule["AllowedOrigins"],
            }
            for cfn_key, api_key in (
                ("AllowedHeaders", "AllowedHeaders"),
                ("ExposedHeaders", "ExposeHeaders"),
                ("MaxAge", "MaxAgeSeconds"),
                ("Id", "ID"),
            ):
                if cfn_key in rule:
                    s3_rule[api_key] = int(rule[cfn_key]) if api_key == "MaxAgeSeconds" else rule[cfn_key]
            cors_rules.append(s3_rule)
        notifications = []
        for config in (props.get("NotificationConfiguration") or {}).get("QueueConfigurations") or []:
            rules = ((config.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
            notifications.append(
                QueueNotification(
                    queue_arn=config["Queue"],
                    events=(config["Event"],),
                    filter_rules=tuple((rule["Name"].lower(), rule["Value"]) for rule in rules),
                )
            )
        return BucketSpec(
            logical_id=lid,
            name=name,
            arn=self.resolver.arn("s3", name, region=False, account=False),
            cors_rules=cors_rules,
            versioned=(props.get("VersioningConfiguration") or {}).get("Status") == "Enabled",
            queue_notifications=tuple(notifications),
        )

    def queue(self, lid: str) -> QueueSpec:
        props = self.resolved[lid]
        name = self.resolver.physical_name(lid)
        attributes = {
            key: _stringify(props[key])
            for key in (
                "DelaySeconds",
                "MaximumMessageSize",
                "MessageRetentionPeriod",
                "ReceiveMessageWaitTimeSeconds",
                "VisibilityTimeout",
                "ContentBasedDeduplication",
                "FifoQueue",
            )
            if key in props
        }
        redrive = props.get("RedrivePolicy") or {}
        if isinstance(redrive, str):
            redrive = json.loads(redrive)
        return QueueSpec(
            logical_id=lid,
            name=name,
            url=self.resolver.queue_url(name),
            arn=self.resolver.arn("sqs", name),
            fifo=props.get("FifoQueue") in (True, "true"),
            attributes=attributes,
            dead_letter_target_arn=redrive.get("deadLetterTargetArn"),
            max_receive_count=int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None,
            visibility_timeout_seconds=int(props.get("VisibilityTimeout", 30)),
        )

    def layer_dir(self, lid: str) -> Path:
        content = self.resolved[lid].get("ContentUri")
        if not isinstance(content, str):
            raise TemplateError(f"{lid}: only a local ContentUri directory can be served locally")
        return (self.root / content).resolve()

    def function(self, lid: str, layers: dict[str, Path], queues: dict[str, QueueSpec]) -> FunctionSpec:
        raw, props = self.raw[lid], self.resolved[lid]
        code_uri = props.get("CodeUri")
        if not isinstance(code_uri, str):
            raise TemplateError(f"{lid}: only a local CodeUri directory can be served locally")
        layer_dirs = []
        for raw_layer in raw.get("Layers") or []:
            layer_id = raw_layer.get("Ref") if isinstance(raw_layer, dict) else None
            if layer_id in layers:
                layer_dirs.append(layers[layer_id])
            else:
                self.resolver.warnings.append(f"{lid}: layer {raw_layer!r} is not in the template; skipped")
        variables = (props.get("Environment") or {}).get("Variables") or {}
        name = self.resolver.physical_name(lid)
        return FunctionSpec(
            logical_id=lid,
            function_name=name,
            arn=self.resolver.arn("lambda", f"function:{name}"),
            code_dir=(self.root / code_uri).resolve(),
            handler=props["Handler"],
            runtime=props.get("Runtime"),
            timeout_seconds=int(props.get("Timeout", LAMBDA_DEFAULT_TIMEOUT_SECONDS)),
            memory_mb=int(props.get("MemorySize", LAMBDA_DEFAULT_MEMORY_MB)),
            environment={key: _stringify(value) for key, value in variables.items()},
            layer_dirs=tuple(layer_dirs),
            reserved_concurrency=(
                int(props["ReservedConcurrentExecutions"]) if "ReservedConcurrentExecutions" in props else None
            ),
            async_config=self.async_config(lid, raw, props, queues),
            services=policy_services(props.get("Policies")),
        )

    def async_config(
        self, lid: str, raw: dict[str, Any], props: dict[str, Any], queues: dict[str, QueueSpec]
    ) -> AsyncInvokeConfig:
        dead_letter_queue_id = on_failure_queue_id = None
        dead_letter = props.get("DeadLetterQueue")
        if dead_letter:
            if dead_letter.get("Type") == "SQS":
                dead_letter_queue_id = self.referenced_id(
                    raw["DeadLetterQueue"].get("TargetArn"), dead_letter.get("TargetArn"), queues, "queue"
                )
            else:
                self.resolver.warnings.append(f"{lid}: only SQS dead-letter queues are served locally")
        invoke_config = props.get("EventInvokeConfig") or {}
        on_failure = (invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {}
        if on_failure.get("Type") == "SQS":
            raw_destination = raw["EventInvokeConfig"]["DestinationConfig"]["OnFailure"].get("Destination")
            on_failure_queue_id = self.referenced_id(raw_destination, on_failure.get("Destination"), queues, "queue")
        elif on_failure:
            self.resolver.warnings.append(f"{lid}: only SQS OnFailure destinations are served locally")
        return AsyncInvokeConfig(
            maximum_retry_attempts=int(invoke_config.get("MaximumRetryAttempts", LAMBDA_ASYNC_DEFAULT_RETRIES)),
            dead_letter_queue_id=dead_letter_queue_id,
            on_failure_queue_id=on_failure_queue_id,
        )

    def api(self, lid: str, functions: dict[str, FunctionSpec]) -> ApiSpec:
        return self._api_spec(lid, self.raw[lid], self.resolved[lid], functions)

    def implicit_api(self, functions: dict[str, FunctionSpec]) -> ApiSpec:
        raw = copy.deepcopy(self.globals.get("Api") or {})
        resolved = self.resolver.resolve(raw)
        resolved.setdefault("StageName", IMPLICIT_API_STAGE)
        return self._api_spec(IMPLICIT_API_ID, raw, resolved, functions)

    def _api_spec(
        self, lid: str, raw: dict[str, Any], props: dict[str, Any], functions: dict[str, FunctionSpec]
    ) -> ApiSpec:
        auth, raw_auth = props.get("Auth") or {}, raw.get("Auth") or {}
        authorizers = {}
        for name, authorizer in (auth.get("Authorizers") or {}).items():
            if "FunctionArn" not in authorizer:
                self.resolver.warnings.append(
                    f"{lid}: authorizer {name} is not a Lambda authorizer; routes using it answer 401"
                )
                continue
            function_id = self.referenced_id(
                raw_auth["Authorizers"][name]["FunctionArn"], authorizer["FunctionArn"], functions, "function"
            )
            identity = authorizer.get("Identity") or {}
            payload_type = str(authorizer.get("FunctionPayloadType", "TOKEN")).upper()
            headers = _as_tuple(identity.get("Headers"))
            if payload_type == "TOKEN":
                headers = (identity.get("Header", "Authorization"),)
            authorizers[name] = AuthorizerSpec(
                name=name,
                function_id=function_id,
                payload_type=payload_type,
                identity_headers=headers,
                identity_query_strings=_as_tuple(identity.get("QueryStrings")),
                identity_stage_variables=_as_tuple(identity.get("StageVariables")),
                identity_context=_as_tuple(identity.get("Context")),
                reauthorize_every_seconds=int(identity.get("ReauthorizeEvery", AUTHORIZER_DEFAULT_TTL_SECONDS)),
                validation_expression=identity.get("ValidationExpression"),
            )
        responses = {}
        for response_type, response in (props.get("GatewayResponses") or {}).items():
            responses[response_type] = GatewayResponseSpec(
                response_type=response_type,
                status_code=int(response["StatusCode"]) if "StatusCode" in response else None,
                headers={
                    name: _stringify(value)
                    for name, value in ((response.get("ResponseParameters") or {}).get("Headers") or {}).items()
                },
                templates={ctype: _stringify(t) for ctype, t in (response.get("ResponseTemplates") or {}).items()},
            )
        throttles = []
        for setting in props.get("MethodSettings") or []:
            if "ThrottlingRateLimit" in setting or "ThrottlingBurstLimit" in setting:
                resource_path = str(setting.get("ResourcePath", "/*"))
                if resource_path != "/*":
                    resource_path = resource_path[1:].replace("~1", "/")  # "/~1imports" is /imports
                throttles.append(
                    ThrottleSpec(
                        resource_path=resource_path,
                        http_method=str(setting.get("HttpMethod", "*")).upper(),
                        rate_limit=float(setting.get("ThrottlingRateLimit", 10000)),
                        burst_limit=int(setting.get("ThrottlingBurstLimit", 5000)),
                    )
                )
        default_authorizer = auth.get("DefaultAuthorizer")
        if default_authorizer in ("NONE", None):
            default_authorizer = None
        return ApiSpec(
            logical_id=lid,
            api_id=self.resolver.api_id(lid),
            stage_name=_stringify(props.get("StageName", IMPLICIT_API_STAGE)),
            binary_media_types=tuple(t.replace("~1", "/") for t in props.get("BinaryMediaTypes") or []),
            authorizers=authorizers,
            default_authorizer=default_authorizer,
            gateway_responses=responses,
            stage_variables={k: _stringify(v) for k, v in (props.get("Variables") or {}).items()},
            throttles=tuple(throttles),
            cors=self.cors(props.get("Cors")),
            api_key_required=auth.get("ApiKeyRequired") in (True, "true"),
            api_key_source=str(props.get("ApiKeySourceType") or "HEADER").upper(),
            usage_plans=self.usage_plans(lid),
        )

    def usage_plans(self, api_lid: str) -> tuple[UsagePlanSpec, ...]:
        """The usage plans whose ``ApiStages`` name this API (``ApiId: !Ref <api>``)."""
        plans = []
        for lid in self.of_type("AWS::ApiGateway::UsagePlan"):
            stages = self.raw[lid].get("ApiStages") or []
            if not any(isinstance(stage, dict) and stage.get("ApiId") == {"Ref": api_lid} for stage in stages):
                continue
            throttle = self.resolved[lid].get("Throttle") or {}
            plans.append(
                UsagePlanSpec(
                    logical_id=lid,
                    rate_limit=float(throttle["RateLimit"]) if "RateLimit" in throttle else None,
                    burst_limit=int(throttle["BurstLimit"]) if "BurstLimit" in throttle else None,
                )
            )
        return tuple(plans)

    @staticmethod
    def cors(cors: Any) -> CorsSpec | None:
        if not cors:
            return None
        if isinstance(cors, str):
            return CorsSpec(allow_origin=_unquote_sam(cors) or "*")
        return CorsSpec(
            allow_origin=_unquote_sam(cors.get("AllowOrigin")) or "*",
            allow_methods=_unquote_sam(cors.get("AllowMethods")),
            allow_headers=_unquote_sam(cors.get("AllowHeaders")),
            max_age=_unquote_sam(cors.get("MaxAge")),
            allow_credentials=cors.get("AllowCredentials") in (True, "true"),
        )

    # -- events

    def route(
        self,
        lid: str,
        event_id: str,
        raw: dict[str, Any],
        props: dict[str, Any],
        apis: dict[str, ApiSpec],
        functions: dict[str, FunctionSpec],
    ) -> ApiRoute:
        if "RestApiId" in props:
            api_id = self.referenced_id(raw.get("RestApiId"), props["RestApiId"], apis, "API")
        else:
            if IMPLICIT_API_ID not in apis:
                apis[IMPLICIT_API_ID] = self.implicit_api(functions)
            api_id = IMPLICIT_API_ID
        api = apis[api_id]
        authorizer = (props.get("Auth") or {}).get("Authorizer", api.default_authorizer)
        if authorizer == "NONE":
            authorizer = None
        if authorizer is not None and authorizer not in api.authorizers:
            self.resolver.warnings.append(
                f"{lid}.{event_id}: authorizer {authorizer} cannot run locally; the route answers 401"
            )
        path = str(props["Path"])
        api_key_required = (props.get("Auth") or {}).get("ApiKeyRequired", api.api_key_required)
        return ApiRoute(
            api_id=api_id,
            path=path if path == "/" else "/" + path.strip("/"),
            method=str(props["Method"]).upper(),
            function_id=lid,
            event_id=event_id,
            authorizer=authorizer,
            api_key_required=api_key_required in (True, "true"),
        )

    def s3_source(
        self,
        lid: str,
        event_id: str,
        raw: dict[str, Any],
        props: dict[str, Any],
        buckets: dict[str, BucketSpec],
    ) -> S3EventSource:
        bucket_id = self.referenced_id(raw.get("Bucket"), props.get("Bucket"), buckets, "bucket")
        rules = ((props.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
        return S3EventSource(
            function_id=lid,
            event_id=event_id,
            bucket_id=bucket_id,
            bucket_name=buckets[bucket_id].name,
            events=_as_tuple(props.get("Events")),
            # S3 takes "Prefix" and "prefix" alike; one spelling keeps matching simple.
            filter_rules=tuple((str(rule["Name"]).lower(), str(rule["Value"])) for rule in rules),
        )

    def sqs_source(
        self,
        lid: str,
        event_id: str,
        raw: dict[str, Any],
        props: dict[str, Any],
        queues: dict[str, QueueSpec],
    ) -> SqsEventSource:
        queue_id = self.referenced_id(raw.get("Queue"), props.get("Queue"), queues, "queue")
        scaling = props.get("ScalingConfig") or {}
        return SqsEventSource(
            function_id=lid,
            event_id=event_id,
            queue_id=queue_id,
            batch_size=int(props.get("BatchSize", SQS_EVENT_DEFAULT_BATCH_SIZE)),
            maximum_batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
            report_batch_item_failures="ReportBatchItemFailures" in _as_tuple(props.get("FunctionResponseTypes")),
            enabled=props.get("Enabled", True) not in (False, "false"),
            maximum_concurrency=int(scaling["MaximumConcurrency"]) if "MaximumConcurrency" in scaling else None,
        )

    def schedule_source(self, lid: str, event_id: str, props: dict[str, Any]) -> ScheduleEventSource | None:
        expression = str(props.get("Schedule", ""))
        seconds = rate_seconds(expression)
        if seconds is None:
            self.resolver.warnings.append(f"{lid}.{event_id}: only rate() schedules run locally, not {expression!r}")
            return None
        name = props.get("Name") or f"{self.resolver.physical_name(lid)}-{event_id}"
        state = props.get("State")
        enabled = props.get("Enabled", True) not in (False, "false") and state not in ("DISABLED",)
        return ScheduleEventSource(
            function_id=lid,
            event_id=event_id,
            expression=expression,
            rate_seconds=seconds,
            rule_arn=self.resolver.arn("events", f"rule/{name}"),
            enabled=enabled,
            input=props.get("Input"),
        )


def env_file_overrides(path: Path | str, function_id: str) -> dict[str, str]:
    """Variables for one function from a ``sam local --env-vars`` style JSON file:
    ``{"Parameters": {...every function...}, "<LogicalId>": {...}}``."""
    with open(path, encoding="utf-8") as stream:
        document = json.load(stream)
    merged = {**(document.get("Parameters") or {}), **(document.get(function_id) or {})}
    return {key: _stringify(value) for key, value in merged.items()}


__all__ = [
    "ApiRoute",
    "ApiSpec",
    "AsyncInvokeConfig",
    "AuthorizerSpec",
    "BucketSpec",
    "CloudFormationLoader",
    "CorsSpec",
    "FunctionSpec",
    "GatewayResponseSpec",
    "LocalAccount",
    "QueueNotification",
    "QueueSpec",
    "Resolver",
    "S3EventSource",
    "SqsEventSource",
    "StackTemplate",
    "TableSpec",
    "TemplateError",
    "ThrottleSpec",
    "UsagePlanSpec",
    "default_template_path",
    "env_file_overrides",
    "load_template",
    "read_template_document",
]
