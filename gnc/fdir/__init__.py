"""Our flight software's FDIR functions, each a plug-in module (`gnc.fdir.registry`)."""
