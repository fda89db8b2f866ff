"""Physical constants of the Moon and of the propulsion equations (SI units), with sources."""

import math

# Gravitational parameter of the Moon [m^3/s^2].
# Konopliv et al. (2013), "The JPL lunar gravity field to spherical harmonic degree 660 from
# the GRAIL Primary Mission", JGR Planets 118, 1415-1434: GM = 4902.80007 km^3/s^2 (GL0660B).
MOON_GM_M3PS2 = 4.90280007e12

# Reference radius of the GL0660B spherical-harmonic gravity field [m] (Konopliv et al. 2013).
MOON_GRAVITY_REFERENCE_RADIUS_M = 1_738_000.0

# Normalised degree-2 zonal coefficient of GL0660B (Konopliv et al. 2013), and the
# un-normalised J2 = -sqrt(5) * C20_normalised that the closed-form J2 model uses.
MOON_C20_NORMALISED = -9.0880835e-5
MOON_J2 = -math.sqrt(5.0) * MOON_C20_NORMALISED

# Mean radius of the Moon, the datum of lunar topography [m].
# Archinal et al. (2018), "Report of the IAU Working Group on Cartographic Coordinates and
# Rotational Elements: 2015", Celest. Mech. Dyn. Astron. 130:22, Table 5: 1737.4 km.
MOON_MEAN_RADIUS_M = 1_737_400.0

# Sidereal rotation rate of the Moon [rad/s]: 2*pi / 27.321661 d (sidereal month,
# Astronomical Almanac; the Moon rotates synchronously).
MOON_ROTATION_RATE_RADPS = 2.0 * math.pi / (27.321661 * 86_400.0)

# Standard acceleration of gravity used to turn specific impulse into exhaust velocity
# [m/s^2]; exact by definition (3rd CGPM 1901, BIPM SI Brochure 9th ed.).
STANDARD_GRAVITY_MPS2 = 9.80665
