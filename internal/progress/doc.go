// Package progress draws a one-line progress display on a terminal: a bar, the
// percentage, how many units are done out of how many, the rate and the time left,
// redrawn in place at most ten times a second and erased before other output is
// written.
//
// It owns only the drawing. Callers decide whether the stream is a terminal (a bar is
// only ever given a terminal, normally stderr) and tell the bar what is done; it starts
// no goroutine.
package progress
