"""The middle of the compiler: a Spec becomes a Plan, a DAG of Steps with fingerprints."""
