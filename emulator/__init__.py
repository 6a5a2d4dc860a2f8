"""Local stand-ins for the AWS services the ratings API uses."""
