"""Handling incoming documents after registration: assign, re-assign, report, complete, return;
the timeline, deadlines and reminders, and the leader's dashboard."""
