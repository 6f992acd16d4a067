// Package awsfake is an AWS-compatible endpoint for what third-party
// emulators cannot script: one-off ECS tasks that fail in each documented
// way, and their CloudWatch Logs. It speaks the JSON 1.1 protocol (POST /,
// X-Amz-Target, errors as {"__type","message"}) so the real SDK and the
// real aws CLI talk to it unchanged. It also backs the local sandbox.
package awsfake
