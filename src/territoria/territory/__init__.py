"""Areas of the territory (communes, IRIS, EPCI, districts) and point-to-area assignment."""
