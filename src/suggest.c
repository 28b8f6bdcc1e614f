/* suggest.c: edit distance for "did you mean ...?" suggestions */
#include <stdint.h>
#include <string.h>

#include "prbot/suggest.h"
#include "banned.h"

size_t pb_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, best;
	size_t d[32][32];

	if (la >= 32 || lb >= 32)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];

			best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

int pb_suggest_close(const char *typed, const char *known, size_t *best)
{
	size_t d = pb_edit_distance(typed, known);

	if (d > 2 || d * 2 >= strlen(known) || d >= *best)
		return 0;
	*best = d;
	return 1;
}
