// Package testaws starts the third-party AWS emulator (moto_server) for
// tests and runs the real aws CLI against an endpoint.
package testaws
