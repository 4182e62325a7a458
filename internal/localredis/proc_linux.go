package localredis

import "syscall"

// sysProcAttr makes the kernel kill the server when the thread that started it exits,
// so a crashed or aborted parent does not leave servers behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
