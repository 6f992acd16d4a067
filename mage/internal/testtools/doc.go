// Package testtools holds helpers shared by tests: finding the external
// tools integration tests run (skipped under -short, and when missing unless
// DEPLOYKIT_REQUIRE_TOOLS is set), a buffer that concurrent writers can
// share, and a real registry on loopback.
package testtools
