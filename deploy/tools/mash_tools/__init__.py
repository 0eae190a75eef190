"""The project's own tools, apart from the operator's: the synthetic population and its scripted cases, synthetic
referrals, the demo and the benchmark. They drive the mesh through the operator CLI (mash_cli) as any user would;
the CLI never imports them except to run `mash demo` and `mash bench`."""
