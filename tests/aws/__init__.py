"""A stateful model of AWS's own behaviour, for testing the cloud path without AWS.

Built from the provider's source and the AWS documentation (each behaviour cites its source
beside it), never from what this project's code expects. Real boto3 clients talk to it: botocore
validates every request against the service model as for AWS, the model answers, the answer is
validated against the operation's output shape, and modeled errors reach the caller as the
ClientError botocore raises for AWS's.
"""
