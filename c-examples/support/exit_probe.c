/*
 * exit_probe.c: test support, not an example.
 *
 * tests/ and scripts/run-examples link this next to a program so they can
 * look at the device after main() has returned but while the process is
 * still alive. (Once a process is gone, the next reader of the device frees
 * whatever it left, which would hide a missing free.)
 *
 * When ACCELMEM_EXIT_PROBE is set, this destructor writes the line
 * "accelmem-exit-probe" to stderr and waits for one line on stdin.
 * Otherwise it does nothing.
 */
#include <stdio.h>
#include <stdlib.h>

__attribute__((destructor)) static void accelmem_exit_probe(void)
{
    int c;

    if (getenv("ACCELMEM_EXIT_PROBE") == NULL) {
        return;
    }
    fputs("accelmem-exit-probe\n", stderr);
    fflush(stderr);
    do {
        c = getchar();
    } while (c != EOF && c != '\n');
}
