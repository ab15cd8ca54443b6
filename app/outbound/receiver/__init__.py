"""The tiny local receiver of outbound reports (a stand-in for the dispatch centre and the regulator)."""
