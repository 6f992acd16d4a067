// Package cisim runs the CircleCI jobs of .circleci/config.yml on this
// machine, step by step, on a fresh copy of the repository: a PATH like a
// CircleCI image's, sudo that resets PATH to its secure_path, no compiled
// mage left from an earlier commit, the sandbox substituted for the real
// environments and a stub for the OIDC token. Its one test runs after the
// rest of the suite (`go run mage.go test` starts it), since the test job's
// own steps run the whole suite again.
package cisim
