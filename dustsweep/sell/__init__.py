"""sell"""
