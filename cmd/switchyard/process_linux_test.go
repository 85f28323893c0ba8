package main

import "syscall"

// childAttr makes a child process die with the test binary's thread that
// started it, even when the test binary is killed.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
