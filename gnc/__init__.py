"""Flight software: navigation, guidance, control and mode management.

It sees only what sensors report and what the vehicle is configured with; it never reads the
truth state. The import-linter contract in pyproject.toml forbids importing the truth modules
(`dynamics.truth`, `dynamics.mass_properties`, `dynamics.propulsion`, `dynamics.touchdown`,
`dynamics.craters`); the shared math (`dynamics.vector`, `dynamics.quaternion`,
`dynamics.frames`), constants and map look-up code are allowed, and the run loop in `sims`
decides what data reach these functions.
"""
