//go:build !linux

package main

import "syscall"

// childAttr: no parent-death signal outside Linux; the test's cleanup
// kills its children.
func childAttr() *syscall.SysProcAttr { return nil }
