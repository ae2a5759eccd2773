"""Pure functions over the node tree: statistics, histograms, summaries, the security
verdict. No Qt."""
