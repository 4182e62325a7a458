package localredis

import "syscall"

// sysProcAttr makes the kernel kill the server when the thread that started it exits,
// so a crashed or aborted parent does not leave servers behind, and puts the server in
// a process group of its own, so that Ctrl-C in the terminal (which signals the whole
// foreground group) reaches only the parent, which then stops its servers itself.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
