#!/usr/bin/env bats
# The binary's own surface: version, help, usage errors.
load helpers

@test "version prints the version" {
	run "$CACHEFORM" version
	[ "$status" -eq 0 ]
	[[ "$output" == "cacheform "* ]]
}

@test "help lists the exit codes" {
	run "$CACHEFORM" help
	[ "$status" -eq 0 ]
	[[ "$output" == *"4  stale plan"* ]]
}

@test "an unknown command is a usage error" {
	run "$CACHEFORM" frobnicate
	[ "$status" -eq 129 ]
	[[ "$output" == *"unknown command 'frobnicate'"* ]]
}
