"""The template loader of the local stack: short tags, intrinsic resolution, SAM globals, and the
typed model of tables, buckets, queues, functions, routes, the authorizer and event sources."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from local_stack.template import (
    IMPLICIT_API_ID,
    LocalAccount,
    TemplateError,
    env_file_overrides,
    load_template,
    read_template_document,
)

ROOT = Path(__file__).resolve().parents[2]

FAKE_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
  Retention:
    Type: Number
    Default: 7
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
Globals:
  Function:
    Timeout: 20
    MemorySize: 512
    Layers: [!Ref Lib]
    Environment:
      Variables:
        SHARED: from-globals
        OVERRIDDEN: from-globals
        STAGE: !Ref Stage
Resources:
  Lib:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: lib/
  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: N}
        - {AttributeName: gsi_pk, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: by-gsi
          KeySchema: [{AttributeName: gsi_pk, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
  Named:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-named-${Stage}"
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  ProdOnly:
    Type: AWS::DynamoDB::Table
    Condition: IsProd
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  Files:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-${AWS::AccountId}-${AWS::Region}-files"
      CorsConfiguration:
        CorsRules:
          - AllowedMethods: [PUT]
            AllowedOrigins: ["*"]
            ExposedHeaders: [ETag]
            MaxAge: 60
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 120
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WorkDead.Arn
        maxReceiveCount: 3
  WorkDead:
    Type: AWS::SQS::Queue
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      BinaryMediaTypes: ["*~1*"]
      Variables: {color: blue}
      Auth:
        DefaultAuthorizer: Keys
        Authorizers:
          Keys:
            FunctionArn: !GetAtt Auth.Arn
            FunctionPayloadType: REQUEST
            Identity:
              Headers: [Authorization]
              ReauthorizeEvery: 60
      GatewayResponses:
        UNAUTHORIZED:
          StatusCode: "401"
          ResponseParameters: {Headers: {X-Request-ID: context.requestId}}
          ResponseTemplates: {application/json: '{"id": "$context.requestId"}'}
      MethodSettings:
        - {ResourcePath: "/*", HttpMethod: "*", ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10}
  Auth:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/auth/
      Handler: app.handler
      Timeout: 5
  Web:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/web/
      Handler: pkg.module.handler
      MemorySize: !If [IsProd, 1024, 256]
      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt WorkDead.Arn}
      Environment:
        Variables:
          OVERRIDDEN: own
          TABLE: !Ref Items
          NAMED_TABLE: !Ref Named
          TABLE_ARN: !GetAtt Items.Arn
          BUCKET: !Ref Files
          BUCKET_ARN: !GetAtt Files.Arn
          QUEUE_URL: !Ref Work
          QUEUE_ARN: !GetAtt Work.Arn
          JOINED: !Sub "${Stage}-${AWS::Region}"
          CHOSEN: !If [IsProd, big, small]
          MAYBE: !If [IsProd, present, !Ref AWS::NoValue]
          NOT_PROD: !If [NotProd, "yes", "no"]
          LITERAL: !Sub "${!NotAVariable} ${Retention}d ${AWS::Partition}/${AWS::URLSuffix}"
          WITH_VARS: !Sub ["${Greeting}, ${Stage}", {Greeting: hello}]
          FLAG: true
      Events:
        ListItems:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /items, Method: get}
        GetItem:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: "/items/{item_id}", Method: GET}
        Open:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /open/, Method: any, Auth: {Authorizer: NONE}}
        Implicit:
          Type: Api
          Properties: {Path: /implicit, Method: post}
        Schedule:
          Type: Schedule
          Properties: {Schedule: rate(1 minute)}
        Nightly:
          Type: Schedule
          Properties: {Schedule: "cron(0 3 * * ? *)"}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/worker/
      Handler: app.handler
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        DestinationConfig:
          OnFailure: {Type: SQS, Destination: !GetAtt WorkDead.Arn}
      Events:
        Uploaded:
          Type: S3
          Properties:
            Bucket: !Ref Files
            Events: s3:ObjectCreated:*
            Filter:
              S3Key:
                Rules:
                  - {Name: Prefix, Value: in/}
                  - {Name: suffix, Value: .csv}
        Queued:
          Type: SQS
          Properties:
            Queue: !GetAtt Work.Arn
            BatchSize: 5
            FunctionResponseTypes: [ReportBatchItemFailures]
Outputs:
  Url:
    Value: !Sub "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}"
"""


@pytest.fixture
def template_path(tmp_path: Path) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(FAKE_TEMPLATE), encoding="utf-8")
    return path


def test_short_tags_become_long_form_intrinsics(template_path: Path) -> None:
    document = read_template_document(template_path)
    web = document["Resources"]["Web"]["Properties"]
    assert web["Environment"]["Variables"]["TABLE"] == {"Ref": "Items"}
    assert web["Environment"]["Variables"]["TABLE_ARN"] == {"Fn::GetAtt": ["Items", "Arn"]}
    assert document["Conditions"]["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert document["AWSTemplateFormatVersion"] == "2010-09-09"  # a string, not a date


def test_intrinsics_resolve_against_the_local_account(template_path: Path) -> None:
    template = load_template(template_path)
    stack = template.account.stack_name
    env = template.function("Web").environment

    assert env["TABLE"] == f"{stack}-Items"
    assert env["NAMED_TABLE"] == f"{stack}-named-dev"
    assert env["TABLE_ARN"] == f"arn:aws:dynamodb:us-east-1:123456789012:table/{stack}-Items"
    assert env["BUCKET"] == f"{stack}-123456789012-us-east-1-files"
    assert env["BUCKET_ARN"] == f"arn:aws:s3:::{stack}-123456789012-us-east-1-files"
    assert env["QUEUE_URL"] == f"https://sqs.us-east-1.amazonaws.com/123456789012/{stack}-Work"
    assert env["QUEUE_ARN"] == f"arn:aws:sqs:us-east-1:123456789012:{stack}-Work"
    assert env["JOINED"] == "dev-us-east-1"
    assert env["CHOSEN"] == "small"
    assert "MAYBE" not in env
    assert env["NOT_PROD"] == "yes"
    assert env["LITERAL"] == "${NotAVariable} 7d aws/amazonaws.com"
    assert env["WITH_VARS"] == "hello, dev"
    assert env["FLAG"] == "true"
    assert template.outputs["Url"] == (f"https://{template.apis['Api'].api_id}.execute-api.us-east-1.amazonaws.com/dev")


def test_parameter_overrides_and_conditions(template_path: Path) -> None:
    template = load_template(template_path, parameter_overrides={"Stage": "prod"})
    assert "ProdOnly" in template.tables
    assert template.function("Web").environment["CHOSEN"] == "big"
    assert template.function("Web").environment["MAYBE"] == "present"
    assert "ProdOnly" not in load_template(template_path).tables
    with pytest.raises(TemplateError):
        load_template(template_path, parameter_overrides={"Nope": "x"})


def test_another_local_account(template_path: Path) -> None:
    account = LocalAccount(stack_name="other", region="eu-west-1")
    template = load_template(template_path, account=account)
    assert template.tables["Items"].name == "other-Items"
    assert template.buckets["Files"].name == "other-123456789012-eu-west-1-files"


def test_tables_keep_their_keys_indexes_and_ttl(template_path: Path) -> None:
    items = load_template(template_path).tables["Items"]
    assert (items.hash_key, items.range_key) == ("pk", "sk")
    request = items.create_table_request()
    assert request["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert request["GlobalSecondaryIndexes"][0]["IndexName"] == "by-gsi"
    assert request["BillingMode"] == "PAY_PER_REQUEST"
    assert items.ttl_attribute == "expires_at"


def test_bucket_cors_is_in_the_s3_api_shape(template_path: Path) -> None:
    bucket = load_template(template_path).buckets["Files"]
    assert bucket.cors_rules == [
        {"AllowedMethods": ["PUT"], "AllowedOrigins": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 60}
    ]


def test_queues_with_redrive_policy(template_path: Path) -> None:
    template = load_template(template_path)
    work = template.queues["Work"]
    assert work.attributes == {"VisibilityTimeout": "120"}
    assert work.dead_letter_target_arn == template.queues["WorkDead"].arn
    assert work.max_receive_count == 3


def test_function_merges_globals_with_its_own_settings(template_path: Path) -> None:
    template = load_template(template_path)
    web, auth = template.function("Web"), template.function("Auth")
    assert web.environment["SHARED"] == "from-globals"
    assert web.environment["OVERRIDDEN"] == "own"
    assert web.environment["STAGE"] == "dev"
    assert (web.timeout_seconds, web.memory_mb) == (20, 256)
    assert (auth.timeout_seconds, auth.memory_mb) == (5, 512)
    assert web.code_dir == (template_path.parent / "functions/web").resolve()
    assert web.layer_dirs == ((template_path.parent / "lib").resolve(),)
    assert (web.handler_module, web.handler_function) == ("pkg.module", "handler")
    assert web.handler_file == web.code_dir / "pkg/module.py"
    assert web.function_name == f"{template.account.stack_name}-Web"
    assert web.async_config.dead_letter_queue_id == "WorkDead"


def test_project_root_is_where_code_paths_start(template_path: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    template = load_template(template_path, project_root=elsewhere)
    assert template.function("Web").code_dir == (elsewhere / "functions/web").resolve()


def test_routes_come_from_api_events(template_path: Path) -> None:
    template = load_template(template_path)
    routes = {(route.method, route.path): route for route in template.routes}
    assert set(routes) == {("GET", "/items"), ("GET", "/items/{item_id}"), ("ANY", "/open"), ("POST", "/implicit")}
    assert routes["GET", "/items"].authorizer == "Keys"
    assert routes["GET", "/items"].function_id == "Web"
    assert routes["ANY", "/open"].authorizer is None
    assert routes["POST", "/implicit"].api_id == IMPLICIT_API_ID
    assert template.apis[IMPLICIT_API_ID].stage_name == "Prod"
    # rate() schedules run locally; cron() ones are named in a warning.
    (schedule,) = template.schedule_event_sources
    assert (schedule.function_id, schedule.rate_seconds, schedule.enabled) == ("Web", 60, True)
    assert any("cron(0 3 * * ? *)" in warning for warning in template.warnings)


def test_api_authorizer_gateway_responses_and_settings(template_path: Path) -> None:
    api = load_template(template_path).apis["Api"]
    assert api.stage_name == "dev"
    assert api.binary_media_types == ("*/*",)
    assert api.stage_variables == {"color": "blue"}
    assert api.default_authorizer == "Keys"
    keys = api.authorizers["Keys"]
    assert (keys.function_id, keys.payload_type, keys.identity_headers) == ("Auth", "REQUEST", ("Authorization",))
    assert keys.reauthorize_every_seconds == 60
    unauthorized = api.gateway_responses["UNAUTHORIZED"]
    assert unauthorized.status_code == 401
    assert unauthorized.headers == {"X-Request-ID": "context.requestId"}
    assert (api.throttles[0].rate_limit, api.throttles[0].burst_limit) == (5.0, 10)


def test_s3_event_sources_with_filters(template_path: Path) -> None:
    template = load_template(template_path)
    (source,) = template.s3_event_sources
    assert (source.function_id, source.bucket_id) == ("Worker", "Files")
    assert source.bucket_name == template.buckets["Files"].name
    assert source.events == ("s3:ObjectCreated:*",)
    assert source.filter_rules == (("prefix", "in/"), ("suffix", ".csv"))
    assert source.matches("s3:ObjectCreated:Put", "in/people.csv")
    assert not source.matches("s3:ObjectCreated:Put", "out/people.csv")
    assert not source.matches("s3:ObjectCreated:Put", "in/people.txt")
    assert not source.matches("s3:ObjectRemoved:Delete", "in/people.csv")


def test_sqs_event_sources_and_async_config(template_path: Path) -> None:
    template = load_template(template_path)
    (source,) = template.sqs_event_sources
    assert (source.function_id, source.queue_id, source.batch_size) == ("Worker", "Work", 5)
    assert source.report_batch_item_failures
    config = template.function("Worker").async_config
    assert (config.maximum_retry_attempts, config.on_failure_queue_id) == (1, "WorkDead")


def test_env_vars_file_like_sam_local(tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    path.write_text('{"Parameters": {"A": "all", "B": 1}, "Web": {"B": "web"}}', encoding="utf-8")
    assert env_file_overrides(path, "Web") == {"A": "all", "B": "web"}
    assert env_file_overrides(path, "Other") == {"A": "all", "B": "1"}


def test_unsupported_intrinsic_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Cidr [a, 1, 2]\n",
        encoding="utf-8",
    )
    with pytest.raises(TemplateError, match="Fn::Cidr"):
        load_template(path)


def test_the_project_template_resolves() -> None:
    """The real template: every function's code and layer directory exists, names are resolved
    (no intrinsic left), and every route has a function and an authorizer that can run locally."""
    template = load_template(ROOT / "template.yaml")
    assert not template.warnings
    for function in template.functions.values():
        assert function.code_dir.is_dir(), function.logical_id
        assert all(layer.is_dir() for layer in function.layer_dirs)
        assert all(isinstance(value, str) and "Ref" not in value for value in function.environment.values())
    for route in template.routes:
        assert route.function_id in template.functions
        api = template.apis[route.api_id]
        assert route.authorizer is None or route.authorizer in api.authorizers
    for source in template.s3_event_sources:
        assert template.bucket_by_name(source.bucket_name) is not None
