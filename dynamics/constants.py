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

# Normal albedo of the lunar maria at 1064 nm, the reflectance laser rangefinders and lidars
# see [-]: about 0.15-0.25 on the maria, 0.3-0.45 on the highlands. Lucey et al. (2014),
# "The global albedo of the Moon at 1064 nm from LOLA", JGR Planets 119, 1665-1679.
MARE_NORMAL_ALBEDO_1064NM = 0.2
